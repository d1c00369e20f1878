"""Checklists: the model and its loader, the shipped checklists (``builtin/``), printable export, diff."""
