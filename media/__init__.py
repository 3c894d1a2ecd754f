"""Evidence file storage: `media.storage.storage()` gives the configured backend."""
