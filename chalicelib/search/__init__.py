from chalicelib.search.base import IndexOutcome, SearchIndex, SearchQuery, SearchResult

__all__ = ["IndexOutcome", "SearchIndex", "SearchQuery", "SearchResult"]
