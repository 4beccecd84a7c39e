import{cp as i}from"./index-Cg0zHE21.js";const n=o=>["",...i].includes(o);export{n as i};
