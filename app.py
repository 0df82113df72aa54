"""Then & Now — the entry script (``streamlit run app.py``). The whole app is the frame,
``ui.frame.run`` (sign-in, filters, navigation over the scripts in pages/, present mode);
docs/ARCHITECTURE.md, Navigation, says why it lives in a module."""

from ui.frame import run

run()
