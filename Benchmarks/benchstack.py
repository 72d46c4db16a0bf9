"""What the Python benchmarks share: scripts/call loaded as a module (its signing), and a user
connected to the simulator's `developer` account with a project linked to a new Vercel project."""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import uuid


def load_call(root):
    loader = importlib.machinery.SourceFileLoader("sheen_call", os.path.join(root, "scripts", "call"))
    spec = importlib.util.spec_from_loader("sheen_call", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def linked_project(root, dev_env, dev, signed, projects_root, prefix):
    """A user (made with `dev("user", …)`), connected through the simulator's consent page, and a
    project with the README's sample site linked to a new Vercel project: (user, project, the
    Vercel project's id). `signed(method, target, body)` answers (status, decoded JSON)."""
    user = dev("user", "%s-%s@example.com" % (prefix, uuid.uuid4().hex[:8]))
    project = dev("project", user, prefix)
    # The files a deploy sends: the README's sample site, where the platform puts a project's files.
    shutil.copytree(os.path.join(root, "scripts", "demo-site"), os.path.join(projects_root, project),
                    dirs_exist_ok=True)
    status, answer = signed("POST", "/v1/internal/vercel/oauth/initiate", {"userId": user})
    assert status == 200, answer
    consent = subprocess.run([os.path.join(root, "scripts", "consent"), answer["authorizationUrl"], "developer"],
                             cwd=root, env=dict(os.environ, SHEEN_DEV_ENV=dev_env), check=True,
                             capture_output=True, text=True).stdout.strip()
    status, answer = signed("POST", "/v1/internal/vercel/oauth/confirm", {"userId": user, "confirmation": consent})
    assert status == 200, answer
    status, answer = signed("POST", "/v1/projects/%s/vercel/projects/link" % project,
                            {"userId": user, "createProject": {"name": "%s-%s" % (prefix, uuid.uuid4().hex[:6])}})
    assert status == 200, answer
    return user, project, answer["vercelProjectId"]
