"""dlrun's own config groups and their choices, read from the YAML files of the `dlrun.conf`
package (no Hydra composition: `dlrun --help` lists them in a few milliseconds, where Hydra's own
help composes the config once per group and choice)."""

from importlib.resources import files

from omegaconf import OmegaConf

CONFIG_MODULE = "dlrun.conf"
HELP_FILE = ("hydra", "help", "dlrun.yaml")


def group_choices() -> dict[str, list[str]]:
    """{group: [choices]} of the app's groups (Hydra's own `hydra/...` groups left out), sorted."""
    root = files(CONFIG_MODULE)
    groups = {}
    for folder in root.iterdir():
        if folder.is_dir() and folder.name not in ("hydra", "__pycache__"):
            choices = sorted(f.name[: -len(".yaml")] for f in folder.iterdir() if f.name.endswith(".yaml"))
            if choices:
                groups[folder.name] = choices
    return dict(sorted(groups.items()))


def help_text() -> str:
    """`dlrun --help`: conf/hydra/help/dlrun.yaml's template with the groups filled in, as Hydra
    renders it."""
    help_cfg = OmegaConf.to_container(OmegaConf.load(files(CONFIG_MODULE).joinpath(*HELP_FILE)))
    groups = "\n".join(f"{group}: {', '.join(choices)}" for group, choices in group_choices().items()) + "\n"
    text = help_cfg["template"].replace("${hydra.help.header}", help_cfg["header"])
    text = text.replace("${hydra.help.footer}", help_cfg["footer"])
    return text.replace("$APP_CONFIG_GROUPS", groups)
