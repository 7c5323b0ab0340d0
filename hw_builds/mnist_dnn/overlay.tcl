# mnist_dnn: PYNQ-Z2 overlay (PS7 + AXI DMA + hls4ml IP).
# Written by pynq_ia.blockdesign.write_tcl from the design description; regenerate, do not edit.
# usage: vivado -mode batch -source overlay.tcl -tclargs <hls ip repository> <output folder>
set ip_repo [lindex $argv 0]
set out_dir [lindex $argv 1]

# the PYNQ-Z2 board files give the PS7 its preset (DDR, MIO, clocks): stop early without them
if {[llength [get_board_parts -quiet tul.com.tw:pynq-z2:part0:1.0]] == 0} {
    error "Vivado has no PYNQ-Z2 board files (tul.com.tw:pynq-z2:part0:1.0). Copy the pynq-z2 folder of TUL's board files (https://www.tulembedded.com/FPGA/ProductsPYNQ-Z2.html) into <Vivado>/data/boards/board_files and run again."
}
create_project mnist_dnn_overlay ./vivado_project -part xc7z020clg400-1 -force
set_property board_part tul.com.tw:pynq-z2:part0:1.0 [current_project]
set_property ip_repo_paths $ip_repo [current_project]
update_ip_catalog
create_bd_design "mnist_dnn"

# Zynq PS7 with the board preset, the HP0 slave port for the DMA and FCLK0 for the fabric
create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps7
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"} [get_bd_cells ps7]
set_property -dict [list CONFIG.PCW_USE_S_AXI_HP0 {1} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100}] [get_bd_cells ps7]

# AXI DMA in simple mode: memory side 32 bits, stream side the IP's words
# (the stream widths are user values: Vivado would otherwise propagate its own over them)
create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma
set_property -dict [list CONFIG.c_m_axis_mm2s_tdata_width.VALUE_SRC USER CONFIG.c_s_axis_s2mm_tdata_width.VALUE_SRC USER] [get_bd_cells axi_dma]
set_property -dict [list CONFIG.c_include_sg {0} CONFIG.c_sg_length_width {26} CONFIG.c_sg_include_stscntrl_strm {0} CONFIG.c_m_axi_mm2s_data_width {32} CONFIG.c_m_axis_mm2s_tdata_width {16} CONFIG.c_mm2s_burst_size {256} CONFIG.c_m_axi_s2mm_data_width {32} CONFIG.c_s_axis_s2mm_tdata_width {16} CONFIG.c_s2mm_burst_size {256}] [get_bd_cells axi_dma]

# the network
create_bd_cell -type ip -vlnv xilinx.com:hls:mnist_dnn_axi:1.0 nn

# registers on GP0, data through HP0
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Clk_master {/ps7/FCLK_CLK0 (100 MHz)} Clk_slave {/ps7/FCLK_CLK0 (100 MHz)} Clk_xbar {/ps7/FCLK_CLK0 (100 MHz)} Master {/ps7/M_AXI_GP0} Slave {/axi_dma/S_AXI_LITE} ddr_seg {Auto} intc_ip {New AXI Interconnect} master_apm {0}} [get_bd_intf_pins axi_dma/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Clk_master {/ps7/FCLK_CLK0 (100 MHz)} Clk_slave {/ps7/FCLK_CLK0 (100 MHz)} Clk_xbar {/ps7/FCLK_CLK0 (100 MHz)} Master {/axi_dma/M_AXI_MM2S} Slave {/ps7/S_AXI_HP0} ddr_seg {Auto} intc_ip {New AXI Interconnect} master_apm {0}} [get_bd_intf_pins ps7/S_AXI_HP0]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {Clk_master {/ps7/FCLK_CLK0 (100 MHz)} Clk_slave {/ps7/FCLK_CLK0 (100 MHz)} Clk_xbar {/ps7/FCLK_CLK0 (100 MHz)} Master {/axi_dma/M_AXI_S2MM} Slave {/ps7/S_AXI_HP0} ddr_seg {Auto} intc_ip {/axi_mem_intercon} master_apm {0}} [get_bd_intf_pins axi_dma/M_AXI_S2MM]

# streams: DMA -> network -> DMA
connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXIS_MM2S] [get_bd_intf_pins nn/in_r]
connect_bd_intf_net [get_bd_intf_pins nn/out_r] [get_bd_intf_pins axi_dma/S_AXIS_S2MM]
apply_bd_automation -rule xilinx.com:bd_rule:clkrst -config {Clk {/ps7/FCLK_CLK0 (100 MHz)} Freq {100} Ref_Clk0 {} Ref_Clk1 {} Ref_Clk2 {}} [get_bd_pins nn/ap_clk]

# the IP's reset: the system's (as the automation wired it) AND the DMA's stream-side resets
# (PG021: mm2s/s2mm_prmry_reset_out_n, active low), so the DMA's soft reset, which the driver
# issues after a fault, also clears a partial frame the IP holds
set system_reset [get_bd_pins -of_objects [get_bd_nets -of_objects [get_bd_pins nn/ap_rst_n]] -filter {DIR == O}]
if {[llength $system_reset] != 1} {
    error "nn/ap_rst_n was not wired to one system reset by the clock automation: cannot AND in the DMA's resets"
}
disconnect_bd_net [get_bd_nets -of_objects [get_bd_pins nn/ap_rst_n]] [get_bd_pins nn/ap_rst_n]
create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 ip_resets
set_property -dict [list CONFIG.NUM_PORTS {3}] [get_bd_cells ip_resets]
create_bd_cell -type ip -vlnv xilinx.com:ip:util_reduced_logic:2.0 ip_reset
set_property -dict [list CONFIG.C_OPERATION {and} CONFIG.C_SIZE {3}] [get_bd_cells ip_reset]
connect_bd_net $system_reset [get_bd_pins ip_resets/In0]
connect_bd_net [get_bd_pins axi_dma/mm2s_prmry_reset_out_n] [get_bd_pins ip_resets/In1]
connect_bd_net [get_bd_pins axi_dma/s2mm_prmry_reset_out_n] [get_bd_pins ip_resets/In2]
connect_bd_net [get_bd_pins ip_resets/dout] [get_bd_pins ip_reset/Op1]
connect_bd_net [get_bd_pins ip_reset/Res] [get_bd_pins nn/ap_rst_n]

# every slave gets an address (batch runs do not always), then the DMA's registers go where
# the driver expects them
assign_bd_address
set_property offset 0x40400000 [get_bd_addr_segs {ps7/Data/SEG_axi_dma_Reg}]
set_property range 64K [get_bd_addr_segs {ps7/Data/SEG_axi_dma_Reg}]

validate_bd_design
save_bd_design
add_files -norecurse [make_wrapper -files [get_files mnist_dnn.bd] -top]
set_property top mnist_dnn_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs 2
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] != "100%"} {
    error "implementation of mnist_dnn failed: see vivado_project/mnist_dnn_overlay.runs/impl_1"
}

# the routed design's timing and utilization, kept beside the overlay; a bitstream that misses
# timing (negative worst setup or hold slack) computes wrong values at its clock: no overlay
file mkdir $out_dir
open_run impl_1
report_timing_summary -max_paths 10 -file [file join $out_dir mnist_dnn_timing_summary_routed.rpt]
report_utilization -file [file join $out_dir mnist_dnn_utilization_routed.rpt]
set wns [get_property SLACK [get_timing_paths -setup -max_paths 1 -nworst 1]]
set whs [get_property SLACK [get_timing_paths -hold -max_paths 1 -nworst 1]]
if {$wns eq "" || $whs eq "" || $wns < 0 || $whs < 0} {
    error "mnist_dnn misses timing at 100 MHz: WNS '$wns' ns, WHS '$whs' ns (see mnist_dnn_timing_summary_routed.rpt); no bitstream is copied"
}

# the overlay: bitstream and hardware handoff, named as PYNQ expects (same base name)
file copy -force [glob ./vivado_project/mnist_dnn_overlay.runs/impl_1/*.bit] [file join $out_dir mnist_dnn.bit]
# (.srcs up to Vivado 2020.1, .gen from 2020.2 on)
file copy -force [lindex [glob ./vivado_project/mnist_dnn_overlay.*/sources_1/bd/mnist_dnn/hw_handoff/mnist_dnn.hwh] 0] [file join $out_dir mnist_dnn.hwh]
