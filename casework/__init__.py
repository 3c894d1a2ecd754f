"""The domain of wx110: incidents, their progress, evidence, chat and complaints."""
