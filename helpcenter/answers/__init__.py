"""Answers: messages rendered from templates, deadline arithmetic, form checks, masking personal
data. May import: helpcenter.knowledge, helpcenter.understanding."""
