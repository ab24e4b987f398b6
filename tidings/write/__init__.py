"""Writers: turn a story's items into a revision of its article."""
