"""Workflow steps of the NER project template, run as `python -m scripts.<step>`."""
