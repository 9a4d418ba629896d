"""Who is calling: passwords, access tokens, their signing secrets and the authorizer."""
