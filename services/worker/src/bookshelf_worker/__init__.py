"""Bookshelf's Celery worker: turns BookEvents into confirmation emails.

Start it with `celery -A bookshelf_worker.celery_app:celery_app worker -Q email`.
"""
