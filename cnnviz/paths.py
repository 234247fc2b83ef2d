"""Where the files the app ships live (the repository's resources/ folder)."""
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DATASETS = RESOURCES / "datasets"
WEIGHTS = RESOURCES / "weights"
MODELS = RESOURCES / "models"
