"""A ticket's conversation as evidence for the review: the facts the certainty cell asks about.

:mod:`.facts` reads a thread (customer, agent, system messages and internal notes, in order) and finds how often
the customer chased, the longest silence on our side, the first reply that gave a definite plan with a time, and
whether the customer's need climbed from "when is it fixed?" to "what has this cost me?". The phrases it looks for
are data (``butterfly/data/certainty_rules.yaml``), in zh-CN, zh-TW and en.
"""
