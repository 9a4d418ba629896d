"""Taking the API to AWS: table and secret bootstrap, Terraform and SAM packaging.

Not shipped to Lambda: these modules run on a developer's machine or in CI.
"""
