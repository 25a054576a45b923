"""Console pages: one module per page; views fetch, render or call one action."""
