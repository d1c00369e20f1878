"""``butterfly sync``: pull the tickets that changed since the last sync straight from a helpdesk's REST API.

Each source (:mod:`.zendesk`, :mod:`.freshdesk`, :mod:`.jira`, :mod:`.github`, :mod:`.servicenow`) turns the API's
pages into documents in the shape its file export has; :mod:`.service` imports each page through the same code
path as ``butterfly import`` (same mapping, statuses, content hashes, rejects and summary buckets) and stores the
source's cursor or high-water mark (:mod:`.state`) only after that page's tickets are committed. :mod:`.http`
speaks HTTP: pagination, rate limits, retries. :mod:`.config` reads each source's connection settings and its
secret (an environment variable or the OS keyring, never a setting, never printed).
"""
