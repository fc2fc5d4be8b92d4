@cluster @serial
Feature: A minority cut off from the cluster acknowledges nothing
  A node that cannot reach a majority cannot know whether its data is current, so it refuses
  writes and consistent reads rather than risk answering wrongly. The majority side keeps
  working; when the network heals, the cut-off node catches up.

  Scenario: An isolated leader stops acknowledging and the majority carries on
    Given a 3-node Lithair cluster
    When 10 articles are created through node 1
    And the leader is cut off from the other nodes
    Then a new leader acknowledges a write within 3000 ms
    And the cut-off node acknowledges no write and refuses consistent reads
    When the network heals
    Then every acknowledged write is present on every node
    And no write was acknowledged on the minority side

  Scenario: Clients write through a bridge, and nothing is lost when it heals
    Jepsen's bridge: two groups of two nodes that reach each other only through a fifth.
    Each group and the bridge make a majority, so the cluster keeps a leader throughout.

    Given a 5-node Lithair cluster
    When 4 clients read and write 5 articles for 8 seconds while the network is bridged
    Then the history is linearizable
    And every acknowledged write is present on every node
    And the nodes' logs agree up to the commit index
