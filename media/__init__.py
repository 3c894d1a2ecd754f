"""Evidence media: storage behind a small interface, streaming uploads, type sniffing, probing, previews."""
