# ruff: noqa: E501, W291  (report lines are as wide as Vivado writes them)
"""Vivado report texts for the parser tests.

These are NOT output of a Vivado run (there is no Vivado here): they were written by
hand in the layout UG906 documents for ``report_utilization`` (flat and
``-hierarchical``) and ``report_timing_summary``, with made-up numbers, to exercise the
parsers on both the UltraScale+ and the 7-series row names and on a design that meets
and one that misses timing.
"""

UTIL_ZU = """\
Copyright 1986-2022 Xilinx, Inc. All Rights Reserved. Copyright 2022-2023 Advanced Micro Devices, Inc. All Rights Reserved.
---------------------------------------------------------------------------------------------------------------------------------------------
| Tool Version : Vivado v.2023.1 (lin64) Build 0000000 (hand-written sample)
| Date         : (sample)
| Host         : (sample)
| Command      : report_utilization -file utilization.rpt
| Design       : accel_bd_wrapper
| Device       : xczu7ev-ffvc1156-2-e
| Speed File   : -2
| Design State : Routed
---------------------------------------------------------------------------------------------------------------------------------------------

Utilization Design Information

Table of Contents
-----------------
1. CLB Logic
1.1 Summary of Registers by Type
2. CLB Logic Distribution
3. BLOCKRAM
4. ARITHMETIC

1. CLB Logic
------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| CLB LUTs*                  |  7412 |     0 |          0 |    230400 |  3.22 |
|   LUT as Logic             |  6870 |     0 |          0 |    230400 |  2.98 |
|   LUT as Memory            |   542 |     0 |          0 |    101760 |  0.53 |
|     LUT as Distributed RAM |   320 |     0 |            |           |       |
|     LUT as Shift Register  |   222 |     0 |            |           |       |
| CLB Registers              |  9105 |     0 |          0 |    460800 |  1.98 |
|   Register as Flip Flop    |  9101 |     0 |          0 |    460800 |  1.98 |
|   Register as Latch        |     4 |     0 |          0 |    460800 | <0.01 |
| CARRY8                     |    97 |     0 |          0 |     28800 |  0.34 |
+----------------------------+-------+-------+------------+-----------+-------+
* Warning! LUT value is adjusted to account for LUT combining.

3. BLOCKRAM
-----------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    |  4.5 |     0 |          0 |       312 |  1.44 |
|   RAMB36/FIFO*    |    4 |     0 |          0 |       312 |  1.28 |
|   RAMB18          |    1 |     0 |          0 |       624 |  0.16 |
| URAM              |    0 |     0 |          0 |        96 |  0.00 |
+-------------------+------+-------+------------+-----------+-------+

4. ARITHMETIC
-------------

+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |    2 |     0 |          0 |      1728 |  0.12 |
|   DSP48E2 only |    2 |       |            |           |       |
+----------------+------+-------+------------+-----------+-------+
"""

UTIL_Z7 = """\
| Device       : 7z020clg400-1
| Design State : Routed

1. Slice Logic
--------------

+----------------------------+------+-------+-----------+-------+
|          Site Type         | Used | Fixed | Available | Util% |
+----------------------------+------+-------+-----------+-------+
| Slice LUTs                 | 5120 |     0 |     53200 |  9.62 |
|   LUT as Logic             | 4900 |     0 |     53200 |  9.21 |
| Slice Registers            | 6100 |     0 |    106400 |  5.73 |
|   Register as Flip Flop    | 6100 |     0 |    106400 |  5.73 |
+----------------------------+------+-------+-----------+-------+

3. Memory
---------

+-------------------+------+-------+-----------+-------+
|     Site Type     | Used | Fixed | Available | Util% |
+-------------------+------+-------+-----------+-------+
| Block RAM Tile    |    3 |     0 |       140 |  2.14 |
+-------------------+------+-------+-----------+-------+

4. DSP
------

+-----------+------+-------+-----------+-------+
| Site Type | Used | Fixed | Available | Util% |
+-----------+------+-------+-----------+-------+
| DSPs      |    0 |     0 |       220 |  0.00 |
+-----------+------+-------+-----------+-------+
"""

UTIL_HIER = """\
| Design       : accel_bd_wrapper
| Device       : xczu7ev-ffvc1156-2-e
| Design State : Routed

1. Utilization by Hierarchy
---------------------------

+----------------------+------------------------+------------+------------+---------+------+------+--------+--------+------+------------+
|       Instance       |         Module         | Total LUTs | Logic LUTs | LUTRAMs | SRLs |  FFs | RAMB36 | RAMB18 | URAM | DSP Blocks |
+----------------------+------------------------+------------+------------+---------+------+------+--------+--------+------+------------+
| accel_bd_wrapper     |                  (top) |       7412 |       6870 |     320 |  222 | 9105 |      4 |      1 |    0 |          2 |
|   accel_bd_i         |               accel_bd |       7412 |       6870 |     320 |  222 | 9105 |      4 |      1 |    0 |          2 |
|     accel            |   accel_bd_accel_0     |       2210 |       2190 |       0 |   20 | 1530 |      0 |      0 |    0 |          0 |
|     dma              |     accel_bd_dma_0     |       1650 |       1480 |      80 |   90 | 2600 |      4 |      1 |    0 |          0 |
|     mem_sc           |   accel_bd_mem_sc_0    |       2900 |       2640 |     240 |   20 | 4100 |      0 |      0 |    0 |          0 |
+----------------------+------------------------+------------+------------+---------+------+------+--------+--------+------+------------+
"""

_TIMING_HEAD = """\
Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
| Tool Version : Vivado v.2023.1 (lin64) (hand-written sample)
| Command      : report_timing_summary -max_paths 10 -report_unconstrained -file timing_summary.rpt
| Design       : accel_bd_wrapper
| Device       : xczu7ev-ffvc1156
| Speed File   : -2  PRODUCTION 1.30 05-15-2022

Timing Summary Report

------------------------------------------------------------------------------------------------
| Timer Settings
| --------------
------------------------------------------------------------------------------------------------

  Enable Multi Corner Analysis               :  Yes

------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints  
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------  
"""

_TIMING_CLOCKS = """

------------------------------------------------------------------------------------------------
| Clock Summary
| -------------
------------------------------------------------------------------------------------------------

Clock       Waveform(ns)         Period(ns)      Frequency(MHz)
-----       ------------         ----------      --------------
clk_pl_0    {0.000 2.500}        5.000           200.000


------------------------------------------------------------------------------------------------
| Intra Clock Table
| -----------------
------------------------------------------------------------------------------------------------
"""

TIMING_MET = (
    _TIMING_HEAD
    + "      0.412        0.000                      0                21873        0.010"
    "        0.000                      0                21873        1.458        0.000"
    "                       0                  9850  \n\n\n"
    "All user specified timing constraints are met.\n"
    + _TIMING_CLOCKS
)

TIMING_FAILED = (
    _TIMING_HEAD
    + "     -0.837      -41.220                    112                21873        0.012"
    "        0.000                      0                21873        1.458        0.000"
    "                       0                  9850  \n\n\n"
    "Timing constraints are not met.\n"
    + _TIMING_CLOCKS
)
