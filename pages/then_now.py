import streamlit as st

from ui.context import page_context

ctx = page_context()
st.title("then_now")
st.write(ctx.describe_filters())
