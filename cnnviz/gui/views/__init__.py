"""One widget per picture. Each view is created once and then only fed data from the current frame."""

# The views by name, in tab order (no Qt here: the command line lists them before Qt starts).
VIEW_NAMES = ("conv", "maps", "pool", "dense", "backward", "update", "output")
