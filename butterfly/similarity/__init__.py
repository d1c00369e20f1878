"""Text similarity shared by the weekly grouping (``butterfly.reports``) and the walk's similar-ticket panel
(``butterfly.review``): folding, TF-IDF over character n-grams and cosine similarity (``tfidf``), and
average-linkage clustering (``linkage``); the optional ``embeddings`` engine for English text (``engine``,
``choice``, ``embeddings``, ``neighbours``, ``vector_cache``, ``warm``)."""
