"""One widget per picture. Each view is created once and then only fed data from the current frame."""
