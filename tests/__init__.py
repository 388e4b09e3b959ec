"""Tests of the NER project template."""
