"""Operations: the system watching itself (verifier, reaper, stored findings with deduplicated alerts)."""
