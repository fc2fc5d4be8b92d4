@cluster @serial
Feature: A node joins a running cluster and catches up
  A new node is first added as a learner: it receives the data (a snapshot of everything
  older than the leader's last snapshot, then the log after it) without voting. Only once it
  has caught up does it become a voter. Clients working meanwhile notice nothing.

  Scenario: A fourth node joins under write load and catches up from a snapshot
    Given a 3-node Lithair cluster with a spare node, taking a snapshot every 50 entries
    When 120 articles are created through node 1
    And 4 clients read and write 5 articles for 6 seconds while the spare node joins
    Then the cluster has 4 voters
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index
    And the history is linearizable
