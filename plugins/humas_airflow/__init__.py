"""Airflow adapters over the plain-Python ``humas`` core: hooks, triggers, sensors, operators, callbacks."""
