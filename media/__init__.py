"""Evidence file storage: `media.storage.storage()` gives the configured backend."""

"""Evidence media: storage behind a small interface, streaming uploads, type sniffing, probing, previews."""
