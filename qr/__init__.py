"""Doorplate QR codes: signed tokens, label images and print sheets, and the /d/<token> landing page."""
