"""Streamlit-side helpers shared by app.py and the page scripts (the page boundary)."""
