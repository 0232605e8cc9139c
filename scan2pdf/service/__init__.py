"""The hot-folder service: inbox scanning and settling, claims, disposal of originals."""
