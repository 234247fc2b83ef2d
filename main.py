"""Launch the cnnviz desktop app: ``python main.py [--screenshot PATH] ...``."""
from cnnviz.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
