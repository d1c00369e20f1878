"""Text similarity shared by the weekly grouping (``butterfly.reports``) and the walk's similar-ticket panel
(``butterfly.review``): folding, TF-IDF over character n-grams and cosine similarity (``tfidf``), and
average-linkage clustering (``linkage``)."""
