"""butterfly: the butterfly check (蝴蝶检查法) for closed customer-service tickets."""

__version__ = "0.1.0"
