"""Everything behind the HTTP layer of the Tasks API: one module per responsibility."""
