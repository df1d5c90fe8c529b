"""Billfold's dashboard at ``/dashboard``: server-rendered pages behind a login (see routes)."""
