"""Every write on the ledger: deposit, redeem, relay, reverse, family members and the rules.

Operations take the acting user (None = the system: CLI, jobs, other features' operations that
already checked), validate, write and flush; they never commit. Callers use them from here
(``from timebank.ledger import operations``); they live in one module per concern:

* :mod:`.chain`: the write path all of them share (locks, the hash chain, idempotency keys);
* :mod:`.deposits`: deposits of verified hours, one at a time or in bulk;
* :mod:`.spending`: redemption, relay and family members;
* :mod:`.reversal`: reversing a transaction;
* :mod:`.rule_changes`: the district's ledger rules.
"""
from timebank.ledger.errors import (AlreadyReversed, InsufficientBalance, InvalidAmount,
                                    RelayLimitExceeded, RelayNotAllowed)
from timebank.ledger.operations.chain import (MAX_MINUTES, MAX_REASON, MAX_BENEFICIARIES,
                                              CHAIN_LOCK_KEY)
from timebank.ledger.operations.deposits import (deposit, DepositItem, deposit_many)
from timebank.ledger.operations.reversal import (communities_of_accounts, can_reverse, reverse)
from timebank.ledger.operations.spending import (redeem, RelayPreview, relayed_this_year,
                                                 check_relay, relay, can_manage_beneficiaries,
                                                 add_beneficiary, remove_beneficiary)
from timebank.ledger.operations.rule_changes import (can_edit_rules, update_rules)

__all__ = [
    "AlreadyReversed", "InsufficientBalance", "InvalidAmount", "RelayLimitExceeded",
    "RelayNotAllowed", "MAX_MINUTES", "MAX_REASON", "MAX_BENEFICIARIES", "CHAIN_LOCK_KEY",
    "deposit", "DepositItem", "deposit_many", "communities_of_accounts", "can_reverse", "reverse",
    "redeem", "RelayPreview", "relayed_this_year", "check_relay", "relay",
    "can_manage_beneficiaries", "add_beneficiary", "remove_beneficiary", "can_edit_rules",
    "update_rules",
]
