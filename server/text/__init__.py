"""Text as a person reads it: identities and strings compared the way they look."""
