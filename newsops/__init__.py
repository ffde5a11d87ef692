"""newsops: event-driven MLOps pipeline for business-news NLP (local CLI side)."""
