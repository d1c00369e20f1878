"""Checklists: the model and its loader, the shipped checklists (``builtin/``), export, validation, diff."""
