from chalicelib.store.base import ObjectInfo, ObjectStore

__all__ = ["ObjectInfo", "ObjectStore"]
