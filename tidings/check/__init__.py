"""Fact checking: the knowledge base of AI-model facts, and (to come) claims and their verdicts."""
