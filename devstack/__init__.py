"""The local development stack: a DynamoDB-protocol server plus ``chalice local``.

Used by ``make run`` (``python -m devstack``) and by the end-to-end tests, so both run
exactly the same processes. Not part of the Lambda bundle.
"""
