"""The iExec commands of the README's "Run it on iExec" section, as the tests run them.

Each constant is one line of that section, byte for byte (tests/test_readme_iexec.py checks it).
The lane runs them with the shell variables set for the local chain and appends only `--raw`
(JSON output), `--force` to `app run` (skips the spending prompt) and `--password` to `wallet create`
(instead of the prompt); the two make targets get the scratch project folder and, since no registry
is reachable, the digest of a fictitious push.
"""

WALLET_CREATE = "iexec wallet create"
SET_APP = "make iexec-app IMAGE=$IMAGE OWNER=$OWNER"
VALIDATE = "make iexec-validate"
WALLET_SHOW = "iexec wallet show --chain $CHAIN"
DEPLOY = "iexec app deploy --chain $CHAIN"
SHOW = "iexec app show --chain $CHAIN"
RUN = 'iexec app run $APP --chain $CHAIN --workerpool $WORKERPOOL --category 1 --args "$IMAGE_URL" --watch'
DEAL_SHOW = "iexec deal show $DEAL --chain $CHAIN"
DOWNLOAD = "iexec task show $TASK --chain $CHAIN --download result"
UNZIP = "python3 -m zipfile -e result.zip result"

DEPOSIT = "iexec account deposit $AMOUNT --chain $CHAIN"
ACCOUNT_SHOW = "iexec account show --chain $CHAIN"
DEBUG = "iexec task debug $TASK --chain $CHAIN --logs"

TESTED = [
    WALLET_CREATE,
    SET_APP,
    VALIDATE,
    WALLET_SHOW,
    DEPLOY,
    SHOW,
    RUN,
    DEAL_SHOW,
    DOWNLOAD,
    UNZIP,
    DEPOSIT,
    ACCOUNT_SHOW,
    DEBUG,
]

# Lines that need a public network's marketplace API. The lane still runs them on the local chain
# (with --force where the CLI would prompt): the real CLI must accept their syntax and stop only at
# the missing service.
PUBLIC_ONLY = {
    "iexec app publish --chain $CHAIN --price 0 --volume 1000 --tag tee,tdx": "--force",
    "iexec orderbook workerpool --chain $CHAIN --require-tag tee,tdx --category 1": "",
}
PUBLIC_ONLY_ERROR = 'Missing iexecGateway in "chain.json" for chain 31337'
