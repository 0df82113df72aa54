"""The page scripts (run by st.navigation, never imported). This file only makes them the
package ``pages`` for mypy, so ``pages/story.py`` does not collide with the ``story`` package."""
