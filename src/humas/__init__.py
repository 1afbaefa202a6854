"""Humas content pipeline: the plain-Python domain (no Airflow imports here)."""
