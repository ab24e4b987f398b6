"""Publishing: the static site, Atom feeds and the JSON export."""
