"""The command view: dashboard (挂图作战), year timeline (时光轴), project colours and cadre files."""
