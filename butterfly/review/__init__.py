"""Reviewing one ticket: the walk engine, review lifecycle, answers, guards, scoring, experience levels, actions,
similar tickets."""
