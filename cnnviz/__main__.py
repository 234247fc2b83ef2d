"""``python -m cnnviz`` launches the app."""
from cnnviz.gui.app import main

raise SystemExit(main())
