import streamlit as st

from ui.context import page_context

ctx = page_context()
st.title("value")
st.write(ctx.describe_filters())
